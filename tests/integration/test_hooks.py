"""Hooks wired into the controller: vetoes, failures, timeouts, environment and stdin, no secrets."""
import json
import os
import time

import shutil

import harness
from harness import ClusterTest, wait_for


def slurp(path):
    with open(path) as f:
        return f.read()


class HookBase(ClusterTest):
    HOOKS = ''

    def setUp(self):
        self.hookdir = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'myorch-hooks-%d-%d' % (os.getpid(), id(self)))
        os.makedirs(self.hookdir, exist_ok=True)
        self.EXTRA_CLUSTER = 'hook_timeout_ms = 1500\n' + self.HOOKS.replace('HOOKDIR', self.hookdir)
        os.environ['MYORCH_TEST_PARENT_SECRET'] = 'do-not-leak-this'
        super().setUp()

    def tearDown(self):
        super().tearDown()
        os.environ.pop('MYORCH_TEST_PARENT_SECRET', None)
        shutil.rmtree(self.hookdir, ignore_errors=True)


class PreFailoverVeto(HookBase):
    HOOKS = "pre_failover = sh -c 'echo refusing: change freeze; exit 3'"

    def test_veto(self):
        self.lab.kill(1, 'KILL')
        r = self.wait_recovery_done()
        self.assertEqual(r['state'], 'failed')
        self.assertIn('vetoed by the pre_failover hook', r['error'])
        self.assertIn('change freeze', r['error'])
        for i in (2, 3):
            self.assertEqual(self.lab.sql_value(i, 'SELECT @@read_only'), '1', 'nothing promoted')
        full = self.recovery(r['id'])
        hook = [s for s in full['steps'] if s['kind'] == 'hook'][0]
        self.assertEqual(hook['result'], 'failed')
        self.assertIn('hook-vetoed', self.d.log_text())


class HangingAndFailingHooks(HookBase):
    HOOKS = ("pre_failover = sleep 30\n"
             "post_failover = /bin/false\n"
             "post_failover = sh -c 'env > HOOKDIR/env.txt; cat > HOOKDIR/stdin.json'\n"
             "on_failure_detected = sh -c 'echo $MYORCH_EVENT $MYORCH_OLD_PRIMARY >> HOOKDIR/detected.txt'\n"
             "on_topology_change = sh -c 'echo $MYORCH_EVENT >> HOOKDIR/topology.txt'")

    def test_hang_fail_env_stdin(self):
        self.lab.sql(1, 'INSERT INTO lab.seq (n) VALUES (1)')
        t0 = time.monotonic()
        self.lab.kill(1, 'KILL')
        p = self.wait_healthy(timeout=60)
        r = self.wait_recovery_done()
        # The hanging pre hook was killed at its timeout and did not veto; the failing post
        # hook marks the recovery "done, hooks failed" without undoing the promotion.
        self.assertEqual(r['state'], 'done-hooks-failed')
        self.assertLess(time.monotonic() - t0, 30)
        full = self.recovery(r['id'])
        hooks = [s for s in full['steps'] if s['kind'] == 'hook']
        self.assertEqual(len(hooks), 2)
        self.assertIn('timed out', hooks[0]['message'])
        self.assertLess(hooks[0]['ended_ms'] - hooks[0]['started_ms'], 10000)
        self.assertEqual(hooks[1]['result'], 'failed')
        self.assertIn('/bin/false', hooks[1]['message'])
        self.assertIn('hook-failed', self.d.log_text())
        self.assertEqual(self.lab.sql_value(p, 'SELECT @@read_only'), '0')
        # Environment and stdin of the post hook.
        wait_for(lambda: os.path.exists(os.path.join(self.hookdir, 'stdin.json')), what='hook output')
        env = dict(l.split('=', 1) for l in slurp(os.path.join(self.hookdir, 'env.txt')).splitlines() if '=' in l)
        self.assertEqual(env['MYORCH_EVENT'], 'post_failover')
        self.assertEqual(env['MYORCH_CLUSTER'], 'lab')
        self.assertEqual(env['MYORCH_OLD_PRIMARY'], self.lab.addr(1))
        self.assertEqual(env['MYORCH_NEW_PRIMARY'], self.lab.addr(p))
        self.assertEqual(env['MYORCH_REPLICAS'], self.lab.addr(5 - p))
        self.assertEqual(env['MYORCH_LOST_GTIDS'], '')
        self.assertEqual(env['MYORCH_RECOVERY_ID'], str(r['id']))
        self.assertNotIn('MYORCH_TEST_PARENT_SECRET', env)
        doc = json.loads(slurp(os.path.join(self.hookdir, 'stdin.json')))
        self.assertEqual(doc['event'], 'post_failover')
        self.assertEqual(doc['new_primary'], self.lab.addr(p))
        self.assertEqual(doc['old_primary'], self.lab.addr(1))
        self.assertEqual([x['addr'] for x in doc['replicas']], [self.lab.addr(5 - p)])
        self.assertEqual(doc['recovery_id'], r['id'])
        # No password anywhere.
        raw = slurp(os.path.join(self.hookdir, 'env.txt')) + slurp(os.path.join(self.hookdir, 'stdin.json'))
        for user in ('myorch', 'repl', 'app'):
            self.assertNotIn(self.lab.password(user), raw)
        # Asynchronous hooks fired too: the failure, and (with a writable primary to
        # route to) a replica that goes down.
        wait_for(lambda: os.path.exists(os.path.join(self.hookdir, 'detected.txt')), what='on_failure_detected')
        self.assertIn('primary-dead ' + self.lab.addr(1), slurp(os.path.join(self.hookdir, 'detected.txt')))
        self.lab.kill(5 - p, 'KILL')
        wait_for(lambda: os.path.exists(os.path.join(self.hookdir, 'topology.txt')) and
                 'instance-down' in slurp(os.path.join(self.hookdir, 'topology.txt')), what='on_topology_change')


class SecondWritableServer(HookBase):
    """Issue 12 item 8: a server detached beside the primary and made writable is loud
    (analysis multiple-writable, an error event, the on_failure_detected hook), and nothing
    is done to it automatically."""
    HOOKS = "on_failure_detected = sh -c 'echo $MYORCH_EVENT >> HOOKDIR/detected.txt'"

    def test_detached_writable_server(self):
        for q in ('STOP SLAVE', 'RESET SLAVE ALL', 'SET GLOBAL read_only=OFF'):
            self.lab.sql(3, q)
        wait_for(lambda: self.status()['recovery']['analysis'] == 'multiple-writable', what='multiple-writable')
        self.assertIn(self.lab.addr(3), self.status()['recovery']['evidence'])
        wait_for(lambda: 'multiple-writable' in slurp(os.path.join(self.hookdir, 'detected.txt')),
                 what='on_failure_detected with MYORCH_EVENT=multiple-writable')
        self.assertIn('multiple-writable', self.d.log_text())
        time.sleep(1.5)
        self.assertEqual(self.recoveries(), [])
        for i in (1, 3):
            self.assertEqual(self.lab.sql_value(i, 'SELECT @@read_only'), '0', 'server %d left as it was' % i)
        self.lab.sql(3, 'SET GLOBAL read_only=ON')
        wait_for(lambda: self.status()['recovery']['analysis'] != 'multiple-writable', what='analysis back')


if __name__ == '__main__':
    harness.main()
