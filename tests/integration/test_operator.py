"""Operator commands on real lab servers: switchover, failover, relocate, maintenance, report."""
import json
import os
import subprocess
import time

import harness
from harness import ClusterTest, myorch, wait_for


def op(cfg, *args, timeout=120):
    return myorch(*args, '-c', cfg, timeout=timeout)


class Switchover(ClusterTest):
    EXTRA_CLUSTER = 'switchover_max_lag_s = 2'

    def ftwrl(self, i, seconds=60):
        """Hold a global read lock on server i (its SQL thread cannot apply) in a background client."""
        s = self.lab.server(i)
        p = subprocess.Popen(['mariadb', '--no-defaults', '-uroot', '--socket', self.lab._socket_path(i), '-e',
                              'FLUSH TABLES WITH READ LOCK; SELECT SLEEP(%d)' % seconds],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: any('read lock' in (r[0] or '').lower() or 'sleep' in (r[1] or '').lower()
                             for r in self.lab.sql(i, 'SELECT STATE, INFO FROM information_schema.PROCESSLIST')),
                 what='read lock held on %d' % i)
        del s
        return p

    def test_switchover_under_write_load(self):
        out = os.path.join(self.tmp, 'writer.json')
        w = self.seqwriter(out)
        wait_for(lambda: self.count(1) > 50, what='writer running')
        p = op(self.config, 'switchover', '--json')
        self.assertEqual(p.returncode, 0, p.stderr)
        r = json.loads(p.stdout)
        self.assertEqual(r['state'], 'done')
        self.assertEqual(r['lost_gtids'], '')
        self.assertGreater(r['writes_refused_ms'], 0)
        new = self.lab.index_of_port(int(r['new_primary'].rsplit(':', 1)[1]))
        time.sleep(1.0)  # the writer keeps writing on the new primary
        res = self.stop_writer(w, out)
        self.wait_healthy(expect_primary=new)
        n = self.assert_acked_present(res, new)
        self.assertGreater(res['acked'], 100)
        # The writer saw only a short interruption.
        self.assertLess(res['max_gap_ms'], 5000, res)
        for i in self.lab.indexes:
            wait_for(lambda i=i: self.count(i) == n, what='server %d has every row' % i)
        # The old primary is a replica of the new one.
        st = self.lab.sql(1, 'SHOW SLAVE STATUS', dicts=True)[0]
        self.assertEqual(int(st['Master_Port']), self.lab.port(new))

    def test_switchover_while_a_session_holds_a_table_write_lock(self):
        """SET GLOBAL read_only waits for sessions holding explicit table locks (MariaDB KB "Server System
        Variables": read_only; MySQL 8.0/8.4 Reference Manual 7.1.8 "Server System Variables": read_only).
        Demote ends client sessions first, then sets read-only under a bounded lock_wait_timeout: a
        session holding LOCK TABLES ... WRITE on the primary no longer makes the switchover wait until
        the demote step's deadline and abort."""
        holder = subprocess.Popen(['mariadb', '--no-defaults', '-uroot', '--socket', self.lab._socket_path(1), '-e',
                                   'LOCK TABLES lab.seq WRITE; SELECT SLEEP(120)'],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: any('sleep(120)' in (r[0] or '').lower()
                                 for r in self.lab.sql(1, 'SELECT INFO FROM information_schema.PROCESSLIST')),
                     what='write lock held on the primary')
            t0 = time.monotonic()
            p = op(self.config, 'switchover', '--json')
            took = time.monotonic() - t0
        finally:
            holder.kill()
            holder.wait()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        r = json.loads(p.stdout)
        self.assertEqual(r['state'], 'done', r)
        # Bound: the demote step's own deadline is several seconds; ending the session lets it finish at once.
        self.assertLess(took, 10.0, r)
        new = self.lab.index_of_port(int(r['new_primary'].rsplit(':', 1)[1]))
        self.wait_healthy(expect_primary=new)
        self.assertEqual(self.lab.sql_value(1, 'SELECT @@read_only'), '1')

    def test_switchover_to_named_target_and_back(self):
        p = op(self.config, 'switchover', '--to', self.lab.addr(3))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('done', p.stdout)
        self.wait_healthy(expect_primary=3)
        wait_for(lambda: self.status()['primary'] == self.lab.addr(3), what='controller sees the new primary')
        wait_for(lambda: self.status()['recovery']['analysis'] == 'ok', what='analysis ok')
        # The switchover's own rejoin step verified the demoted primary replicating from the
        # new one: it is not fenced, so a switchover straight back is accepted (tests/pkg's
        # with-lab was refused 'fenced' when the mark waited for after-care's next probe).
        self.assertFalse(self.d.instances()[self.lab.addr(1)].get('fenced'))
        p = op(self.config, 'switchover', '--to', self.lab.addr(1))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.wait_healthy(expect_primary=1)

    def test_refusals(self):
        # Unknown host.
        p = op(self.config, 'switchover', '--to', '127.0.0.1:1')
        self.assertEqual(p.returncode, 1)
        self.assertIn('unknown target 127.0.0.1:1', p.stderr)
        # Errant target: a transaction of its own (another domain).
        self.lab.sql(2, "SET SESSION gtid_domain_id=9; INSERT INTO lab.seq (n) VALUES (424242)")
        wait_for(lambda: '9-2-' in (self.d.instances()[self.lab.addr(2)]['snapshot']['gtid_binlog_pos'] or ''),
                 what='errant transaction seen')
        p = op(self.config, 'switchover', '--to', self.lab.addr(2))
        self.assertEqual(p.returncode, 1)
        self.assertIn('errant', p.stderr)
        # Lagging target: its SQL thread is blocked by a read lock while writes go on.
        lock = self.ftwrl(3)
        try:
            for n in range(1, 20):
                self.insert(1, n, 1)
            wait_for(lambda: (self.d.instances()[self.lab.addr(3)]['lag_s'] or 0) > 2.5, timeout=20,
                     what='target lagging')
            p = op(self.config, 'switchover', '--to', self.lab.addr(3))
            self.assertEqual(p.returncode, 1)
            self.assertIn('switchover_max_lag_s', p.stderr)
        finally:
            lock.kill()
            lock.wait()
        self.assertEqual(self.healthy(expect_primary=1), 1)
        self.assertEqual(self.recoveries(), [])

    def test_rollback_when_target_cannot_catch_up(self):
        lock = self.ftwrl(3)
        try:
            self.insert(1, 1, 1)
            p = op(self.config, 'switchover', '--to', self.lab.addr(3), '--catch-up-ms', '1500', '--json')
            self.assertEqual(p.returncode, 1, p.stdout)
            r = json.loads(p.stdout)
            self.assertEqual(r['state'], 'failed')
            self.assertTrue(r['aborted'])
            self.assertFalse(r['promoted'])
            self.assertIn('did not apply', r['error'])
        finally:
            lock.kill()
            lock.wait()
        # Rolled back: the old primary takes writes again, the target still replicates from it.
        self.assertEqual(self.lab.sql_value(1, 'SELECT @@read_only'), '0')
        self.wait_healthy(expect_primary=1)
        self.insert(1, 100, 1)
        full = self.recovery(self.recoveries()[0]['id'])
        self.assertIn('rollback', [s['kind'] for s in full['steps']])

    def test_controller_stopped_during_a_switchover_records_every_step(self):
        """SIGTERM while the target is catching up: the controller lets the switchover finish and
        every message of the worker reaches the audit (none dropped while waiting for it)."""
        import sqlite3
        lock = self.ftwrl(3)
        try:
            self.insert(1, 1, 1)
            sw = subprocess.Popen([harness.MYORCH, 'switchover', '-c', self.config, '--to', self.lab.addr(3),
                                   '--catch-up-ms', '3000'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            rid = wait_for(lambda: self.status()['recovery'].get('running_recovery'), what='switchover running')
            rid = rid['id'] if isinstance(rid, dict) else rid
            wait_for(lambda: any(st['kind'] == 'wait-caught-up' for st in self.recovery(rid)['steps']),
                     what='the target is catching up')
            self.assertEqual(self.d.stop(), 0)
        finally:
            lock.kill()
            lock.wait()
        sw.communicate(timeout=60)
        db = sqlite3.connect(os.path.join(self.tmp, 'state', 'state.db'))
        state, = db.execute('SELECT state FROM recoveries WHERE id=?', (rid,)).fetchone()
        self.assertEqual(state, 'failed')
        steps = db.execute('SELECT kind, result FROM recovery_steps WHERE recovery_id=? ORDER BY idx, started_ms',
                           (rid,)).fetchall()
        db.close()
        self.assertIn(('wait-caught-up', 'failed'), steps, steps)
        self.assertTrue(all(r is not None for k, r in steps), steps)
        self.assertIn('rollback', [k for k, r in steps])
        self.d = harness.Daemon(self.config)  # for tearDown

    def test_operation_already_running(self):
        lock = self.ftwrl(3)
        try:
            self.insert(1, 1, 1)
            first = subprocess.Popen([harness.MYORCH, 'switchover', '-c', self.config, '--to', self.lab.addr(3),
                                      '--catch-up-ms', '4000'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wait_for(lambda: self.status()['recovery'].get('running_recovery'), what='switchover running')
            p = op(self.config, 'switchover', '--to', self.lab.addr(2))
            self.assertEqual(p.returncode, 1)
            self.assertIn('already running', p.stderr)
            p = op(self.config, 'failover')
            self.assertEqual(p.returncode, 1)
            self.assertIn('already running', p.stderr)
        finally:
            lock.kill()
            lock.wait()
        first.communicate(timeout=60)
        self.wait_healthy()

    def test_dry_run_changes_nothing(self):
        before = [(i, self.lab.sql_value(i, 'SELECT @@read_only')) for i in self.lab.indexes]
        p = op(self.config, 'switchover', '--dry-run')
        self.assertEqual(p.returncode, 0, p.stderr)
        for k in ('check-trx', 'demote', 'wait-caught-up', 'set-writable', 'repoint', 'rejoin', 'nothing was changed'):
            self.assertIn(k, p.stdout)
        p = op(self.config, 'failover', '--dry-run', '--json')
        self.assertEqual(p.returncode, 0, p.stderr)
        r = json.loads(p.stdout)
        self.assertTrue(r['dry_run'])
        self.assertIn('reachable', r['would_refuse'])
        self.assertIn('fence', [s['kind'] for s in r['plan']['steps']])
        after = [(i, self.lab.sql_value(i, 'SELECT @@read_only')) for i in self.lab.indexes]
        self.assertEqual(before, after)
        self.assertEqual(self.recoveries(), [])
        self.assertEqual(self.healthy(expect_primary=1), 1)

    def test_failover_refused_while_primary_alive_then_forced_after_kill(self):
        p = op(self.config, 'failover')
        self.assertEqual(p.returncode, 1)
        self.assertIn('primary is reachable', p.stderr)


class ManualFailover(ClusterTest):
    EXTRA_CLUSTER = 'auto_failover = no'

    def test_manual_failover_to_named_target(self):
        self.lab.kill(1, 'KILL')
        wait_for(lambda: self.status()['recovery']['analysis'] == 'dead-primary', what='dead primary')
        p = op(self.config, 'failover', '--to', self.lab.addr(3), '--json')
        self.assertEqual(p.returncode, 0, p.stderr)
        r = json.loads(p.stdout)
        self.assertEqual(r['state'], 'done')
        self.assertEqual(r['new_primary'], self.lab.addr(3))
        self.wait_healthy(expect_primary=3)
        self.assertEqual(self.recoveries()[0]['trigger'], 'manual')


class Relocate(ClusterTest):

    def test_relocate_and_refusal(self):
        p = op(self.config, 'relocate', '--replica', self.lab.addr(3), '--below', self.lab.addr(2))
        self.assertEqual(p.returncode, 0, p.stderr)
        wait_for(lambda: self.d.instances()[self.lab.addr(3)]['parent'] == self.lab.addr(2), what='chain')
        self.insert(1, 1, 5)
        wait_for(lambda: self.count(3) == 5, what='row through the chain')
        # Moving 2 below 3 would make a cycle.
        p = op(self.config, 'relocate', '--replica', self.lab.addr(2), '--below', self.lab.addr(3))
        self.assertEqual(p.returncode, 1)
        self.assertIn('cycle', p.stderr)
        # A new source that lacks what the replica applied is refused: server 2 gets a
        # transaction (domain 8) that replicates to 3 only; 3 cannot move below 1.
        self.lab.sql(2, "SET SESSION gtid_domain_id=8; INSERT INTO lab.seq (n) VALUES (777)")
        wait_for(lambda: self.lab.sql_value(3, 'SELECT COUNT(*) FROM lab.seq WHERE n=777') == '1', what='777 on 3')
        p = op(self.config, 'relocate', '--replica', self.lab.addr(3), '--below', self.lab.addr(1))
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn('lacks transactions', p.stderr)
        self.assertIn('8-2-1', p.stderr)
        st = self.lab.sql(3, 'SHOW SLAVE STATUS', dicts=True)[0]
        self.assertEqual((st['Master_Port'], st['Slave_IO_Running'], st['Slave_SQL_Running']),
                         (str(self.lab.port(2)), 'Yes', 'Yes'), 'nothing changed on the refused replica')
        p = op(self.config, 'relocate', '--replica', '127.0.0.1:1', '--below', self.lab.addr(1))
        self.assertEqual(p.returncode, 1)
        self.assertIn('127.0.0.1:1', p.stderr)

    def test_failed_relocate_gives_the_replica_its_source_back(self):
        # The new source refuses the replication user (dropped there, not replicated):
        # the move cannot be verified, and the replica must replicate from its old source
        # again (it was left with both threads stopped before).
        self.lab.sql(3, "SET SESSION sql_log_bin=0; DROP USER 'repl'@'127.0.0.1'")
        p = op(self.config, 'relocate', '--replica', self.lab.addr(2), '--below', self.lab.addr(3))
        self.assertEqual(p.returncode, 1, p.stdout)
        r = self.wait_recovery_done()
        self.assertEqual((r['kind'], r['state']), ('relocate', 'failed'))
        st = self.lab.sql(2, 'SHOW SLAVE STATUS', dicts=True)[0]
        self.assertEqual((st['Master_Port'], st['Slave_IO_Running'], st['Slave_SQL_Running']),
                         (str(self.lab.port(1)), 'Yes', 'Yes'), 'the replica replicates from its old source again')
        full = self.recovery(r['id'])
        back = [s for s in full['steps'] if s['idx'] == 0] if full['steps'] and 'idx' in full['steps'][0] else \
            [s for s in full['steps'] if 'again' in (s.get('message') or '')]
        self.assertTrue(any('replicates from %s again (io=Yes sql=Yes)' % self.lab.addr(1) in (s.get('message') or '')
                            for s in back), full['steps'])


class StateDiskFull(ClusterTest):
    """Issue 12 item 2: the state database cannot commit (its file system is full) when the
    primary dies. The failover is retried with backoff and shown in status; once space is
    freed it proceeds by itself (it was tried once per incident before, then nothing)."""

    def prepare(self):
        self.state = os.path.join(self.tmp, 'state')
        os.makedirs(self.state, mode=0o700)
        r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', self.state],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest('cannot mount a tmpfs here: %s' % r.stderr.strip())
        self.addCleanup(subprocess.run, ['umount', '-l', self.state])

    def fill(self):
        # Unbuffered: a write lands or fails; nothing is left for close() to flush into a full disk
        # (a buffered file raised ENOSPC from close() whenever the last write was short).
        with open(os.path.join(self.state, 'filler'), 'wb', buffering=0) as f:
            try:
                while True:
                    f.write(b'\0' * 65536)
            except OSError:
                pass

    def test_failover_retried_until_the_state_database_can_commit(self):
        self.fill()
        self.lab.kill(1, 'KILL')
        wait_for(lambda: (self.status()['recovery'].get('launch_failed') or {}).get('attempts', 0) >= 2,
                 timeout=30, what='failover launch retried')
        lf = self.status()['recovery']['launch_failed']
        self.assertIn('full', lf['error'].lower())
        self.assertEqual(self.lab.sql_value(2, 'SELECT @@read_only'), '1', 'nothing promoted without a record')
        self.assertEqual(self.lab.sql_value(3, 'SELECT @@read_only'), '1', 'nothing promoted without a record')
        os.unlink(os.path.join(self.state, 'filler'))
        self.wait_healthy(timeout=60)
        self.assertEqual(self.wait_recovery_done()['state'], 'done')
        self.assertIsNone(self.status()['recovery'].get('launch_failed'))


class Maintenance(ClusterTest):

    def test_maintenance_window_blocks_recovery(self):
        p = op(self.config, 'maintenance', 'begin', '--cluster', 'lab', '--reason', 'kernel upgrade', '--duration', '30m')
        self.assertEqual(p.returncode, 0, p.stderr)
        st = self.status()
        self.assertEqual(st['recovery']['maintenance'][0]['reason'], 'kernel upgrade')
        out = myorch('status', '-c', self.config).stdout
        self.lab.kill(1, 'KILL')
        wait_for(lambda: 'under maintenance' in self.d.log_text(), what='recovery skipped')
        time.sleep(1)
        self.assertEqual(self.recoveries(), [])
        p = op(self.config, 'maintenance', 'end', '--cluster', 'lab')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.wait_healthy()
        self.assertEqual(self.wait_recovery_done()['state'], 'done')
        del out

    def test_primary_dead_when_window_expires_is_recovered(self):
        # A primary that dies inside a short window is failed over as soon as the window
        # ends by itself (it used to stay down: the incident counted as handled once skipped).
        p = op(self.config, 'maintenance', 'begin', '--cluster', 'lab', '--reason', 'short', '--duration', '4s')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.lab.kill(1, 'KILL')
        wait_for(lambda: 'under maintenance' in self.d.log_text(), what='recovery held by the window')
        self.assertEqual(self.status()['recovery'].get('held_by'), 'maintenance')
        self.assertEqual(self.recoveries(), [])
        self.wait_healthy(timeout=30)
        self.assertEqual(self.wait_recovery_done()['state'], 'done')
        self.assertIsNone(self.status()['recovery'].get('held_by'))

    def test_duration_bounds(self):
        for bad in ('99999999999999999d', '367d', '0', '-5m', '10x', '+5m'):
            p = op(self.config, 'maintenance', 'begin', '--cluster', 'lab', '--duration', bad)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn('--duration expects', p.stderr)
        self.assertEqual(self.status()['recovery']['maintenance'], [])

    def test_instance_maintenance_never_promoted(self):
        p = op(self.config, 'maintenance', 'begin', '--instance', self.lab.addr(2), '--reason', 'disk swap')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.lab.kill(1, 'KILL')
        self.assertEqual(self.wait_healthy(), 3)
        p = op(self.config, 'maintenance', 'end', '--instance', self.lab.addr(2))
        self.assertEqual(p.returncode, 0, p.stderr)
        p = op(self.config, 'maintenance', 'end', '--instance', self.lab.addr(2))
        self.assertEqual(p.returncode, 1)
        self.assertIn('not under maintenance', p.stderr)


class Report(ClusterTest):
    EXTRA_CLUSTER = 'auto_failover = no\nsla_target = 99.9'

    def test_report_matches_scripted_outage(self):
        time.sleep(2)
        self.lab.kill(1, 'KILL')
        t0 = time.monotonic()
        wait_for(lambda: self.status()['recovery']['analysis'] == 'dead-primary', what='outage seen')
        time.sleep(3)
        self.lab.start(1, read_only=False)
        wait_for(lambda: self.status()['recovery']['analysis'] == 'ok', what='primary back')
        outage = time.monotonic() - t0
        time.sleep(1)
        r = json.loads(op(self.config, 'report', '--json').stdout)['clusters'][0]
        self.assertEqual(r['failures'], 1)
        self.assertGreater(r['down_s'], outage - 1.5)
        self.assertLess(r['down_s'], outage + 1.5)
        self.assertGreater(r['monitored_s'], r['down_s'] + 2)
        self.assertAlmostEqual(r['availability_pct'], 100.0 * r['up_s'] / r['monitored_s'], places=3)
        self.assertAlmostEqual(r['sla_target_pct'], 99.9)
        self.assertLess(r['budget_left_s'], 0)  # a few seconds down in a few seconds of monitoring
        self.assertAlmostEqual(r['mttr_s'], r['down_s'], places=2)
        text = op(self.config, 'report').stdout
        self.assertIn('MTBF', text)
        self.assertIn('unplanned outages     1, ', text)
        self.assertIn('planned write blocks  0 (switchovers), 0 ms in total', text)

    def test_switchover_is_a_planned_write_block_not_a_failure(self):
        time.sleep(1)
        p = op(self.config, 'switchover', '--json')
        self.assertEqual(p.returncode, 0, p.stderr)
        sw = json.loads(p.stdout)
        wait_for(lambda: self.status()['recovery']['analysis'] == 'ok', what='cluster ok after the switchover')
        time.sleep(1)
        r = json.loads(op(self.config, 'report', '--json').stdout)['clusters'][0]
        self.assertEqual(r['failures'], 0, r)
        self.assertEqual(r['down_ms'], 0, r)
        self.assertEqual(r['planned_blocks'], 1, r)
        # The block is the executor's own measure: demote start -> new primary writable.
        self.assertEqual(r['planned_ms'], sw['writes_refused_ms'], (r, sw))
        self.assertEqual(r['sla_down_ms'], r['planned_ms'])
        self.assertTrue(r['sla_counts_planned'])
        self.assertEqual(r['mtbf_s'], -1)
        self.assertEqual(r['mttr_s'], -1)
        text = op(self.config, 'report').stdout
        self.assertIn('unplanned outages     0, 0 ms in total', text)
        ms = r['planned_ms']
        shown = '%d ms' % ms if ms < 1000 else '%.3f s' % (ms / 1000.0)
        self.assertIn('planned write blocks  1 (switchovers), %s in total' % shown, text)
        self.assertIn('MTBF / MTTR           - / -', text)


if __name__ == '__main__':
    harness.main()
