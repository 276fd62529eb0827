-- Test data for the myorch lab (tests/lab/lab.py runs it on the primary after the grants).
CREATE DATABASE IF NOT EXISTS lab;
CREATE TABLE IF NOT EXISTS lab.t (
  id BIGINT PRIMARY KEY AUTO_INCREMENT,
  v  VARCHAR(64),
  ts TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6)
);

-- The lab's application user: what a client of the cluster would have (writers in tests and benchmarks).
CREATE USER IF NOT EXISTS 'app'@'127.0.0.1' IDENTIFIED BY '@APP_PASSWORD@';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON lab.* TO 'app'@'127.0.0.1';
CREATE TABLE IF NOT EXISTS lab.seq (n BIGINT PRIMARY KEY, ts TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6));
