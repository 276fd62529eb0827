-- myorch least-privilege accounts for MariaDB 10.6+ / 10.11 / 11.x
--
-- Placeholders (replace before running; tests/lab/lab.py does it automatically):
--   @MYORCH_PASSWORD@  password of the controller account `myorch`
--   @MYORCH_HOST@      host part the controller connects from (e.g. 10.0.0.% or 127.0.0.1)
--   @REPL_PASSWORD@    password of the replication account `repl`
--   @REPL_HOST@        host part the replicas connect from
-- Passwords are SQL string literals: escape ' and \ if they contain them.
--
-- Run ONCE on the primary as an administrator, with binary logging on: the statements
-- replicate, so every replica (every future promotion candidate) has the same accounts.
-- CREATE OR REPLACE drops any grants the accounts had before: the result is exactly this.
--
-- Verified statement by statement against MariaDB 10.11.19 (see tests/lab/README.md).
-- Privilege names need MariaDB >= 10.5.9 (SLAVE MONITOR) and >= 10.5.2 (the others);
-- on 10.11+ SUPER no longer implies READ_ONLY ADMIN, so do not replace these with SUPER.
--
-- Needs no privilege at all (nothing granted for them):
--   SELECT @@server_id, @@read_only, @@gtid_binlog_pos, @@gtid_current_pos,
--          @@gtid_slave_pos, @@log_bin, @@log_slave_updates, @@binlog_format, ...
--   SHOW GLOBAL VARIABLES ..., SHOW GLOBAL STATUS ... (incl. rpl_semi_sync_* / Rpl_semi_sync_*)
--   SELECT MASTER_GTID_WAIT('<gtid>', <timeout>)

CREATE OR REPLACE USER 'myorch'@'@MYORCH_HOST@' IDENTIFIED BY '@MYORCH_PASSWORD@';

-- SHOW SLAVE STATUS, SHOW REPLICA STATUS, SHOW ALL SLAVES STATUS
GRANT SLAVE MONITOR ON *.* TO 'myorch'@'@MYORCH_HOST@';

-- SHOW MASTER STATUS, SHOW BINLOG STATUS, SHOW BINARY LOGS
GRANT BINLOG MONITOR ON *.* TO 'myorch'@'@MYORCH_HOST@';

-- SHOW SLAVE HOSTS / SHOW REPLICA HOSTS (replicas that set report_host);
-- SET GLOBAL rpl_semi_sync_master_enabled / rpl_semi_sync_master_timeout / ..._wait_point
GRANT REPLICATION MASTER ADMIN ON *.* TO 'myorch'@'@MYORCH_HOST@';

-- SHOW [FULL] PROCESSLIST / information_schema.PROCESSLIST of all users
-- (Binlog Dump threads = connected replicas; find client sessions to kill when fencing)
GRANT PROCESS ON *.* TO 'myorch'@'@MYORCH_HOST@';

-- STOP SLAVE [IO_THREAD|SQL_THREAD], START SLAVE, CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos,
-- SET GLOBAL gtid_slave_pos, SET GLOBAL rpl_semi_sync_slave_enabled, SET GLOBAL slave_net_timeout
GRANT REPLICATION SLAVE ADMIN ON *.* TO 'myorch'@'@MYORCH_HOST@';

-- RESET SLAVE [ALL] (the promoted replica forgets its old source). MariaDB checks RELOAD
-- for every RESET statement, not REPLICATION SLAVE ADMIN (verified on 10.11.19). RELOAD
-- also allows FLUSH ... and RESET MASTER: the controller must never issue those.
GRANT RELOAD ON *.* TO 'myorch'@'@MYORCH_HOST@';

-- SET GLOBAL read_only = 1 / 0 (fencing the old primary, opening the new one)
GRANT READ_ONLY ADMIN ON *.* TO 'myorch'@'@MYORCH_HOST@';

-- KILL [CONNECTION|QUERY] <id> of other users' sessions (fencing);
-- also lets myorch connect when max_connections is exhausted (the extra connection)
GRANT CONNECTION ADMIN ON *.* TO 'myorch'@'@MYORCH_HOST@';

CREATE OR REPLACE USER 'repl'@'@REPL_HOST@' IDENTIFIED BY '@REPL_PASSWORD@';

-- the replica IO thread: COM_BINLOG_DUMP (GTID mode), semi-sync replies
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'@REPL_HOST@';
