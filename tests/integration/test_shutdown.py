"""SIGTERM during a failover: the running step finishes, the failover stops there within
shutdown_timeout_ms, the audit says where (a 'shutdown' row, the recovery left for the next
start), and the next start reports it (recovery-interrupted event, status) and resumes:
the failure is judged afresh and a new failover completes. Past the bound (a step that does
not end) the controller exits anyway and says so."""
import json
import os
import signal
import shutil
import sqlite3
import sys
import time

import harness
from harness import ClusterTest, Daemon, myorch, wait_for


class ShutdownBase(ClusterTest):
    HOOK_SLEEP_S = 5
    SHUTDOWN_TIMEOUT_MS = 20000

    def setUp(self):
        self.hookdir = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'myorch-shutdown-%d-%d' % (os.getpid(), id(self)))
        os.makedirs(self.hookdir, exist_ok=True)
        self.EXTRA_CLUSTER = ("hook_timeout_ms = 60000\nfailover_block_s = 0\n"
                              "pre_failover = sh -c 'echo started >> %s/pre.txt; sleep %d'\n"
                              % (self.hookdir, self.HOOK_SLEEP_S))
        super().setUp()

    def extra_global(self):
        return 'shutdown_timeout_ms = %d' % self.SHUTDOWN_TIMEOUT_MS

    def tearDown(self):
        super().tearDown()
        shutil.rmtree(self.hookdir, ignore_errors=True)

    def hook_started(self):
        try:
            with open(os.path.join(self.hookdir, 'pre.txt')) as f:
                return f.read().count('started')
        except FileNotFoundError:
            return 0

    def db(self, sql):
        con = sqlite3.connect(os.path.join(self.tmp, 'state', 'state.db'))
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def term_mid_failover(self):
        """Kill the primary, SIGTERM the controller while the pre_failover hook sleeps; the seconds it took to exit."""
        self.lab.kill(1, 'KILL')
        wait_for(lambda: self.hook_started() >= 1, timeout=30, what='pre_failover hook running')
        t0 = time.monotonic()
        self.d.proc.send_signal(signal.SIGTERM)
        self.d.proc.wait(60)
        took = time.monotonic() - t0
        print('SIGTERM to exit: %.2f s (shutdown_timeout_ms %d)' % (took, self.SHUTDOWN_TIMEOUT_MS), file=sys.stderr)
        self.d.log.close()
        self.assertEqual(self.d.proc.returncode, 0, self.d.log_text()[-3000:])
        return took

    def restart(self):
        self.d = Daemon(self.config)
        return self.d


class StopAfterStep(ShutdownBase):
    def test_stop_and_resume(self):
        took = self.term_mid_failover()
        log = self.d.log_text()
        # The hook (the current step) finished; nothing after it ran; within the bound.
        self.assertLess(took, self.SHUTDOWN_TIMEOUT_MS / 1000.0)
        self.assertIn('recovery-stopped', log)
        self.assertIn('stopped by a controller shutdown before step', log)
        self.assertNotIn('replica-promoted', log)
        rows = self.db("SELECT id, state FROM recoveries")
        self.assertEqual(len(rows), 1)
        rid, state = rows[0]
        self.assertEqual(state, 'running')  # left for the next start: the per-cluster lock
        steps = self.db("SELECT kind, result, message FROM recovery_steps WHERE recovery_id=%d" % rid)
        hook = [s for s in steps if s[0] == 'hook']
        self.assertEqual(hook[0][1], 'ok')
        shut = [s for s in steps if s[0] == 'shutdown']
        self.assertEqual(len(shut), 1)
        self.assertEqual(shut[0][1], 'interrupted')
        for i in (2, 3):
            self.assertEqual(self.lab.sql_value(i, 'SELECT @@read_only'), '1', 'nothing promoted')

        # The next start reports it and resumes: rolled back, judged afresh, a new failover.
        self.restart()
        wait_for(lambda: 'recovery-interrupted' in self.d.log_text(), what='recovery-interrupted event')
        st = json.loads(myorch('status', '-c', self.config, '--json', check=True).stdout)['clusters'][0]
        self.assertEqual(st['recovery']['interrupted_recovery']['recovery_id'], rid)
        self.wait_healthy(timeout=90)
        r = wait_for(lambda: [x for x in self.recoveries() if x['id'] != rid and x['state'] == 'done'],
                     timeout=60, what='a new failover done')
        self.assertTrue(r)
        first = [x for x in self.recoveries() if x['id'] == rid][0]
        self.assertEqual(first['state'], 'rolled-back')


class StopPastTheBound(ShutdownBase):
    HOOK_SLEEP_S = 30
    SHUTDOWN_TIMEOUT_MS = 1500

    def test_bound(self):
        took = self.term_mid_failover()
        # Bound 1.5 s; generous slack for a loaded machine, far below the hook's 30 s.
        self.assertLess(took, 12)
        log = self.d.log_text()
        self.assertIn('shutdown-timeout', log)
        self.assertEqual(self.db("SELECT state FROM recoveries")[0][0], 'running')
        self.restart()
        wait_for(lambda: 'recovery-interrupted' in self.d.log_text(), what='recovery-interrupted event')


if __name__ == '__main__':
    harness.main()
