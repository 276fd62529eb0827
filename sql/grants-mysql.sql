-- myorch least-privilege accounts for MySQL 8.0 (>= 8.0.22) and 8.4 LTS
--
-- NOT TESTED against a server: no MySQL server is available where this was written.
-- Written from the MySQL 8.0 / 8.4 Reference Manual (privilege notes of each statement:
-- SHOW REPLICA STATUS, SHOW BINARY LOG STATUS, SHOW REPLICAS, RESET REPLICA, START REPLICA,
-- KILL, SET GLOBAL). The MariaDB file (grants-mariadb.sql) is the verified one.
--
-- Placeholders (replace before running):
--   @MYORCH_PASSWORD@  password of the controller account `myorch`
--   @MYORCH_HOST@      host part the controller connects from (e.g. 10.0.0.% or 127.0.0.1)
--   @REPL_PASSWORD@    password of the replication account `repl`
--   @REPL_HOST@        host part the replicas connect from
-- Passwords are SQL string literals: escape ' and \ if they contain them.
--
-- Run ONCE on the primary as an administrator, with binary logging on: the statements
-- replicate, so every replica (every future promotion candidate) has the same accounts.
-- CREATE USER IF NOT EXISTS keeps grants an existing account already has: check
-- SHOW GRANTS FOR 'myorch'@'...' afterwards and revoke anything not listed here.
--
-- Authentication: 8.0/8.4 default to caching_sha2_password, which sends the password itself
-- (in clear over TLS, else encrypted with the server's RSA key). The controller (topology/probe/conn.c)
-- never fetches that key from the server (it does not set MYSQL_OPT_GET_SERVER_PUBLIC_KEY) and
-- allows caching_sha2_password / sha256_password only when the server is proven first:
--   ssl_mode = verify_identity (with ssl_ca)                              recommended, or
--   server_public_key_file = the server's public key (ssl_mode disabled or verify_ca).
-- Otherwise only mysql_native_password and ed25519 are allowed: an account still on
-- caching_sha2_password is refused with a message saying so (mysql_native_password is
-- disabled by default in 8.4). For `repl`, CHANGE REPLICATION SOURCE TO carries
-- GET_SOURCE_PUBLIC_KEY=1 (the replica fetches the source's key); set the cluster's
-- replication_ssl* keys so that the channel uses TLS (SOURCE_SSL=1, SOURCE_SSL_CA=...,
-- SOURCE_SSL_VERIFY_SERVER_CERT=1) and the key is not needed.
--
-- Needs no privilege at all (nothing granted for them):
--   SELECT @@server_id, @@read_only, @@super_read_only, @@gtid_executed, @@gtid_purged,
--          @@log_bin, @@log_replica_updates, @@binlog_format, ...
--   SHOW GLOBAL VARIABLES ..., SHOW GLOBAL STATUS ... (incl. rpl_semi_sync_source_* / _replica_*)
--   SELECT WAIT_FOR_EXECUTED_GTID_SET('<gtid set>', <timeout>)

CREATE USER IF NOT EXISTS 'myorch'@'@MYORCH_HOST@' IDENTIFIED BY '@MYORCH_PASSWORD@';
ALTER USER 'myorch'@'@MYORCH_HOST@' IDENTIFIED BY '@MYORCH_PASSWORD@';

-- SHOW REPLICA STATUS, SHOW BINARY LOG STATUS (8.4) / SHOW MASTER STATUS (8.0),
-- SHOW BINARY LOGS
GRANT REPLICATION CLIENT ON *.* TO 'myorch'@'@MYORCH_HOST@';

-- SHOW REPLICAS (replicas that registered with report_host). This static privilege is
-- the one the manual names for SHOW REPLICAS; it would also let the account request a
-- binlog dump (read all binlog events), which is unavoidable for SHOW REPLICAS. If the
-- controller discovers replicas from the processlist (Binlog Dump threads) instead,
-- drop this line.
GRANT REPLICATION SLAVE ON *.* TO 'myorch'@'@MYORCH_HOST@';

-- SHOW [FULL] PROCESSLIST / performance_schema.processlist of all users
-- (Binlog Dump threads = connected replicas; client sessions to kill when fencing)
GRANT PROCESS ON *.* TO 'myorch'@'@MYORCH_HOST@';

-- STOP REPLICA [IO_THREAD|SQL_THREAD], START REPLICA,
-- CHANGE REPLICATION SOURCE TO ... SOURCE_AUTO_POSITION=1
GRANT REPLICATION_SLAVE_ADMIN ON *.* TO 'myorch'@'@MYORCH_HOST@';

-- RESET REPLICA [ALL] (the promoted replica forgets its old source): the manual says
-- RESET requires RELOAD. RELOAD also allows FLUSH ... and RESET BINARY LOGS AND GTIDS /
-- RESET MASTER: the controller must never issue those.
GRANT RELOAD ON *.* TO 'myorch'@'@MYORCH_HOST@';

-- SET GLOBAL read_only / super_read_only = ON|OFF (fencing, opening the new primary);
-- SET GLOBAL rpl_semi_sync_source_enabled / rpl_semi_sync_replica_enabled / ..._timeout
GRANT SYSTEM_VARIABLES_ADMIN ON *.* TO 'myorch'@'@MYORCH_HOST@';

-- KILL [CONNECTION|QUERY] <id> of other users' sessions (fencing).
-- Sessions of accounts holding SYSTEM_USER (root, other admins) can only be killed by a
-- session that also has SYSTEM_USER. It is deliberately NOT granted (it would make myorch
-- a "power user" that may modify other power users); super_read_only still fences them.
GRANT CONNECTION_ADMIN ON *.* TO 'myorch'@'@MYORCH_HOST@';

-- The probe's receive progress (issue 18: a hung primary told by frozen heartbeats).
GRANT SELECT ON performance_schema.replication_connection_status TO 'myorch'@'@MYORCH_HOST@';

GRANT SELECT ON performance_schema.replication_connection_configuration TO 'myorch'@'@MYORCH_HOST@';

-- Optional, not granted: reading performance_schema.replication_* tables (per-worker
-- applier errors) needs SELECT on them, e.g.
--   GRANT SELECT ON performance_schema.replication_applier_status_by_worker TO ...;

CREATE USER IF NOT EXISTS 'repl'@'@REPL_HOST@' IDENTIFIED BY '@REPL_PASSWORD@';
ALTER USER 'repl'@'@REPL_HOST@' IDENTIFIED BY '@REPL_PASSWORD@';

-- the replica receiver (IO) thread: COM_BINLOG_DUMP_GTID, semi-sync acknowledgements
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'@REPL_HOST@';
