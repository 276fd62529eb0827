"""A hung primary told by its replicas' receive progress (issue 18), on real mariadbd servers.

The replicas' slave_net_timeout is 30 s here: their IO threads keep saying Yes long after the
primary is SIGSTOPped. Before issue 18 nothing failed over within 30 s; now the replicas'
frozen heartbeat counters and positions confirm the hang within a few seconds. Replica 3 starts
with a 1 s heartbeat: the controller reports it (heartbeat-period-too-long), and whichever
replica is repointed by the failover gets the cluster's heartbeat_period_ms (100 ms).
"""
import time
import unittest

from harness import ClusterTest, wait_for


def now_ms():
    return time.time_ns() // 10**6


class HungPrimary(ClusterTest):
    SLAVE_NET_TIMEOUT = 30

    def prepare(self):
        self.lab.sql(3, 'STOP SLAVE; CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD=1; START SLAVE')

    def heartbeat_ms(self, i):
        row = [r for r in self.lab.sql(i, 'SHOW ALL SLAVES STATUS', dicts=True) if not r['Connection_name']][0]
        return round(float(row['Slave_heartbeat_period']) * 1000)

    def test_sigstop_detected_by_stalled_replicas_long_before_net_timeout(self):
        a2, a3 = self.lab.addr(2), self.lab.addr(3)
        wait_for(lambda: 'heartbeat-period-too-long' in self.d.log_text(), what='the 1 s heartbeat reported')
        lines = [ln for ln in self.d.log_text().splitlines() if 'heartbeat-period-too-long' in ln]
        self.assertTrue(any('replica %s has a heartbeat period of 1000 ms' % a3 in ln for ln in lines), lines)
        self.assertFalse(any(a2 in ln for ln in lines), lines)

        self.insert(1, 1, 50)
        wait_for(lambda: all(self.count(i) == 50 for i in (2, 3)), what='rows replicated')
        t0 = now_ms()
        self.lab.kill(1, 'STOP')
        try:
            p = self.wait_healthy(timeout=25)
            r = self.wait_recovery_done(timeout=25)
            self.assertEqual(r['state'], 'done', r)
            detected = r['detected_ms'] - t0
            # 5 x the slower replica's 1 s heartbeat + probe intervals; the net timeout is 30 s.
            self.assertLess(detected, 10000, r)
            self.assertEqual(self.count(p), 50)
            other = 3 if p == 2 else 2
            self.assertEqual(self.heartbeat_ms(other), 100)
        finally:
            self.lab.kill(1, 'CONT')
        wait_for(lambda: self.lab.sql_value(1, 'SELECT @@read_only') == '1', timeout=20, what='old primary fenced')
        self.wait_healthy(expect_primary=p)


class HungSemiSyncPrimary(ClusterTest):
    """Semi-sync replicas of a hung primary, with MariaDB's default rpl_semi_sync_slave_kill_conn_timeout
    (5 s). Stopping such a replica's IO thread connects to the primary to kill its dump thread, and that
    connect waits for the hung primary's greeting until STOP signals the thread again, 2 s later (measured
    2.03-2.05 s from detection to promotion before the fix). The executor kills those IO threads first
    (kill_io_of_lost_source): a killed thread's wait ends at STOP's first signal."""
    SEMI_SYNC = True
    SLAVE_NET_TIMEOUT = 30

    def test_semi_sync_io_stop_does_not_wait_for_the_hung_primary(self):
        for i in (2, 3):
            self.assertEqual(self.lab.sql_value(i, 'SELECT @@rpl_semi_sync_slave_kill_conn_timeout'), '5')
            self.assertEqual(self.lab.sql(i, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_slave_status'")[0][1], 'ON')
        self.insert(1, 1, 20)
        wait_for(lambda: all(self.count(i) == 20 for i in (2, 3)), what='rows replicated')
        self.lab.kill(1, 'STOP')
        try:
            p = self.wait_healthy(timeout=25)
            r = self.wait_recovery_done(timeout=25)
            self.assertEqual(r['state'], 'done', r)
            # Without the KILL: 2 s at least (each IO stop waits until STOP signals its thread again).
            self.assertLess(r['promoted_ms'] - r['detected_ms'], 1500, r)
            self.assertEqual(self.count(p), 20)
        finally:
            self.lab.kill(1, 'CONT')
        wait_for(lambda: self.lab.sql_value(1, 'SELECT @@read_only') == '1', timeout=20, what='old primary fenced')
        self.wait_healthy(expect_primary=p)
        self.insert(p, 21, 10)
        wait_for(lambda: all(self.count(i) == 30 for i in (2, 3)), what='new rows replicated')


if __name__ == '__main__':
    unittest.main(verbosity=2)
