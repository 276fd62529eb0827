"""Discovery and monitoring of a 1 primary + 2 replica lab (real mariadbd)."""
import json
import os
import time

import harness
from harness import myorch, wait_for


class DiscoveryStar(harness.LabTestCase):
    SERVERS = 3

    def setUp(self):
        self.d = self.start_daemon()

    def tearDown(self):
        self.stop_daemon(self.d)

    def full_view(self):
        t = self.d.topology()
        return t if t['reachable'] == len(self.lab.indexes) and t['servers'] == len(self.lab.indexes) else None

    def test_1_discovered_from_replica_seed(self):
        # The lab's config seeds server 2 (a replica) only.
        with open(self.lab.config_path) as f:
            self.assertIn('seeds = %s' % self.lab.addr(2), f.read())
        t = wait_for(self.full_view, what='3 reachable servers')
        self.assertEqual(t['primary'], self.lab.addr(1))
        inst = {i['addr']: i for i in t['instances']}
        self.assertEqual(inst[self.lab.addr(1)]['role'], 'primary')
        self.assertFalse(inst[self.lab.addr(1)]['snapshot']['read_only'])
        for r in (2, 3):
            i = inst[self.lab.addr(r)]
            self.assertEqual(i['role'], 'replica')
            self.assertEqual(i['parent'], self.lab.addr(1))
            self.assertTrue(i['snapshot']['read_only'])
            rep = i['snapshot']['replication']
            self.assertEqual(rep['io_running'], 'Yes')
            self.assertEqual(rep['sql_running'], 'Yes')
            self.assertTrue(rep['using_gtid'])
            self.assertEqual(rep['source_server_id'], 1)
            self.assertEqual(i['snapshot']['server_id'], r)
        # The human view names every server and its role.
        out = myorch('topology', '-c', self.lab.config_path, check=True).stdout
        for r in (1, 2, 3):
            self.assertIn(self.lab.addr(r), out)
        self.assertIn('primary', out)
        self.assertIn('io=Yes sql=Yes', out)
        st = json.loads(myorch('status', '-c', self.lab.config_path, '--json', check=True).stdout)
        self.assertEqual(st['clusters'][0]['servers'], 3)
        self.assertTrue(st['clusters'][0]['first_round_done'])

    def test_2_gtid_positions_tracked(self):
        wait_for(self.full_view, what='3 reachable servers')
        gtid = self.lab.write(1, rows=5)
        def seen():
            inst = self.d.instances()
            return all(inst[self.lab.addr(r)]['gtid'] == gtid for r in (1, 2, 3))
        wait_for(seen, what='GTID %s on every server' % gtid)
        inst = self.d.instances()
        self.assertEqual(inst[self.lab.addr(1)]['snapshot']['gtid_binlog_pos'], gtid)
        self.assertTrue(inst[self.lab.addr(1)]['snapshot']['binlog_coord']['file'].startswith('mysql-bin.'))
        self.assertEqual(inst[self.lab.addr(2)]['snapshot']['replication']['received_gtid'], gtid)

    def test_3_sql_thread_stopped_lag_grows(self):
        wait_for(self.full_view, what='3 reachable servers')
        self.lab.sql(3, 'STOP SLAVE SQL_THREAD')
        try:
            lags = []
            t_end = time.monotonic() + 4.0
            while time.monotonic() < t_end:
                self.lab.write(1, rows=1)
                time.sleep(0.25)
                i = self.d.instances()[self.lab.addr(3)]
                if i['snapshot']['replication']['sql_running'] == 'No' and i['lag_s'] is not None:
                    lags.append((i['lag_s'], i['behind_trx']))
            self.assertGreaterEqual(len(lags), 5, lags)
            # Lag keeps growing while writes continue and the SQL thread is stopped.
            self.assertGreater(lags[-1][0], lags[0][0] + 1.5, lags)
            self.assertGreater(lags[-1][1], lags[0][1], lags)
            self.assertEqual(self.d.instances()[self.lab.addr(3)]['lag_source'], 'gtid_timeline')
            # The healthy replica stays caught up.
            i2 = self.d.instances()[self.lab.addr(2)]
            self.assertLess(i2['lag_s'], 2.0)
            out = myorch('topology', '-c', self.lab.config_path, check=True).stdout
            self.assertIn('io=Yes sql=No', out)
        finally:
            self.lab.sql(3, 'START SLAVE SQL_THREAD')
        wait_for(lambda: self.d.instances()[self.lab.addr(3)]['lag_s'] == 0, what='replica 3 caught up')

    def test_4_killed_replica_down_within_1s(self):
        wait_for(self.full_view, what='3 reachable servers')
        t0 = time.monotonic()
        self.lab.kill(3, 'KILL', wait=False)
        try:
            wait_for(lambda: not self.d.instances()[self.lab.addr(3)]['reachable'], timeout=10,
                     interval=0.02, what='replica 3 down')
            elapsed = time.monotonic() - t0
            self.assertLess(elapsed, 1.0, 'kill -9 noticed after %.3fs' % elapsed)
            # First the held connection's EOF, then the refused reconnects.
            self.assertIn('connection closed by the server', self.d.log_text())
            i = self.d.instances()[self.lab.addr(3)]
            self.assertRegex(i['error'], r"connect|connection")
            out = myorch('topology', '-c', self.lab.config_path, check=True).stdout
            self.assertIn('DOWN', out)
        finally:
            # It comes back as a replica once restarted.
            wait_for(lambda: not self.lab._alive(3), what='server 3 gone')
            self.lab.start(3)
        wait_for(lambda: self.d.instances()[self.lab.addr(3)]['reachable'], what='replica 3 back')
        wait_for(lambda: self.d.instances()[self.lab.addr(3)]['snapshot']['replication']['io_running'] == 'Yes',
                 what='replica 3 replicating')

    def test_5_replica_added_at_runtime(self):
        wait_for(self.full_view, what='3 reachable servers')
        n = self.lab.add_replica(1)
        # Shows up within one poll (500 ms) of the primary listing it; generous bound here.
        i = wait_for(lambda: self.d.instances().get(self.lab.addr(n)), timeout=10, what='new replica')
        wait_for(lambda: self.d.instances()[self.lab.addr(n)]['role'] == 'replica', what='new replica probed')
        self.assertEqual(self.d.instances()[self.lab.addr(n)]['parent'], self.lab.addr(1))
        self.assertIn('discovered as replica of %s' % self.lab.addr(1), self.d.log_text())
        del i

    def test_7_event_stream(self):
        wait_for(self.full_view, what='3 reachable servers')
        import subprocess
        sub = subprocess.Popen([harness.MYORCH, 'events', '-c', self.lab.config_path, '--json', '--timeout-ms', '8000'],
                               stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(0.5)  # a subscriber joining late misses earlier events (PUB semantics)
            self.lab.sql(3, 'STOP SLAVE')
            deadline = time.monotonic() + 20
            seen = []
            while time.monotonic() < deadline:
                line = sub.stdout.readline()
                if not line:
                    break
                ev = json.loads(line)
                seen.append(ev['name'])
                if ev['name'] == 'replication-changed' and ev['instance'] == self.lab.addr(3):
                    self.assertEqual(ev['cluster'], 'lab')
                    self.assertIn('io=No sql=No', ev['message'])
                    break
            else:
                self.fail('no replication-changed event: %r' % seen)
            self.assertIn('replication-changed', seen)
        finally:
            sub.kill()
            sub.wait()
            self.lab.sql(3, 'START SLAVE')

    def test_6_restart_keeps_state_and_single_instance(self):
        wait_for(self.full_view, what='3 reachable servers')
        # A second controller on the same state_dir refuses to start.
        p = myorch('run', '-c', self.lab.config_path, timeout=20)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn('already running', p.stderr)
        self.assertIn(str(self.d.proc.pid), p.stderr)
        # Restart: the servers known are loaded from the state database before any probe.
        self.stop_daemon(self.d)
        state = os.path.join(self.lab.dir, 'state', 'state.db')
        self.assertTrue(os.path.exists(state))
        self.assertEqual(os.stat(os.path.join(self.lab.dir, 'state')).st_mode & 0o777, 0o700)
        self.d = self.start_daemon()
        self.assertIn('servers known from the state database', self.d.log_text())
        wait_for(self.full_view, what='3 reachable servers after restart')


if __name__ == '__main__':
    harness.main()
