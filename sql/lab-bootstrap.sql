-- Test data for the myorch lab (tests/lab/lab.py runs it on the primary after the grants).
CREATE DATABASE IF NOT EXISTS lab;
CREATE TABLE IF NOT EXISTS lab.t (
  id BIGINT PRIMARY KEY AUTO_INCREMENT,
  v  VARCHAR(64),
  ts TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6)
);
