"""Configuration reload without restart (SIGHUP and `myorch reload`): clusters added and
removed, a hook and a timeout changed, a bad file refused with its FILE:LINE message while
the running configuration stays, a key that takes a restart refused, and a reload during a
(slow) recovery waits for it: the recovery finishes with the hooks it started with."""
import json
import os
import signal
import shutil

import harness
from harness import ClusterTest, myorch, start_lab, wait_for


class Reload(ClusterTest):
    def setUp(self):
        self.hookdir = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'myorch-reload-%d-%d' % (os.getpid(), id(self)))
        os.makedirs(self.hookdir, exist_ok=True)
        self.EXTRA_CLUSTER = self.hooks('v1')
        super().setUp()
        with open(self.config) as f:
            self.base = f.read()
        self.socket = 'ipc://%s/state/control.sock' % self.tmp

    def tearDown(self):
        lab2 = getattr(self, 'lab2', None)
        if lab2:
            lab2.down()
        super().tearDown()
        shutil.rmtree(self.hookdir, ignore_errors=True)

    def hooks(self, tag):
        return ("hook_timeout_ms = 20000\n"
                "pre_failover = sh -c 'echo pre-%s >> %s/hooks.txt; sleep 6'\n"
                "post_failover = sh -c 'echo post-%s >> %s/hooks.txt'\n" % (tag, self.hookdir, tag, self.hookdir))

    def write(self, text):
        with open(self.config, 'w') as f:
            f.write(text)
        os.chmod(self.config, 0o600)

    def with_hooks(self, tag, extra=''):
        return self.base.replace(self.hooks('v1'), self.hooks(tag)) + extra

    def status_all(self):
        return json.loads(myorch('status', '--socket', self.socket, '--json', check=True).stdout)

    def names(self):
        return sorted(c['name'] for c in self.status_all()['clusters'])

    def reload(self, ok=True):
        # --socket: with a bad file the CLI itself could not find the control socket.
        p = myorch('reload', '--socket', self.socket, '--json')
        if ok:
            self.assertEqual(p.returncode, 0, p.stderr)
            return json.loads(p.stdout)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        return p.stderr

    def hook_lines(self):
        try:
            with open(os.path.join(self.hookdir, 'hooks.txt')) as f:
                return f.read().split()
        except FileNotFoundError:
            return []

    def test_reload(self):
        pid = self.d.proc.pid
        # 1. A bad file is refused with FILE:LINE; the running configuration stays.
        bad = self.base + '\nno_such_key = 1\n'
        self.write(bad)
        line = bad.count('\n')
        err = self.reload(ok=False)
        self.assertIn('%s:%d:' % (self.config, line), err)
        # (with -c the CLI reads the bad file first and says so itself: exit 4)
        p = myorch('reload', '-c', self.config)
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertIn('%s:%d:' % (self.config, line), p.stderr)
        self.assertIn('no_such_key', err)
        self.assertIn('config-reload-failed', self.d.log_text())
        self.assertEqual(self.names(), ['lab'])
        self.assertEqual(self.d.proc.poll(), None)
        # ... also through SIGHUP (an event says so, the daemon keeps running).
        n_failed = self.d.log_text().count('config-reload-failed')
        os.kill(pid, signal.SIGHUP)
        wait_for(lambda: self.d.log_text().count('config-reload-failed') > n_failed, what='SIGHUP refusal event')
        self.assertEqual(self.names(), ['lab'])
        self.write(self.base)

        # 2. A key that takes a restart is refused by name.
        self.write(self.base.replace('[myorch]\n', '[myorch]\nevent_socket = ipc://%s/other-events.sock\n' % self.tmp))
        err = self.reload(ok=False)
        self.assertIn('event_socket changed: it takes a restart', err)

        # 3. A cluster added (a second lab), through SIGHUP; the poll interval of lab changed.
        self.lab2 = start_lab(os.path.join(self.tmp, 'lab2'), servers=1)
        two = ("\n[cluster.two]\nseeds = %s\nuser = myorch\npassword_file = %s\nauto_failover = no\n"
               % (self.lab2.addr(1), self.lab2.myorch_password_file))
        self.write(self.base.replace('poll_interval_ms = 300', 'poll_interval_ms = 400') + two)
        os.kill(pid, signal.SIGHUP)
        wait_for(lambda: self.names() == ['lab', 'two'], what='cluster two added')
        wait_for(lambda: self.d.topology('two')['reachable'] == 1, what='cluster two monitored')
        st = {c['name']: c for c in self.status_all()['clusters']}
        self.assertEqual(st['lab']['poll_interval_ms'], 400)
        self.assertIn('added two', self.d.log_text())
        wait_for(lambda: self.d.topology()['reachable'] == 3, what='lab monitored again')

        # 4. Cluster two removed and the lab's hooks changed, through `myorch reload`.
        self.write(self.with_hooks('v2'))
        r = self.reload()
        self.assertTrue(r['applied'])
        self.assertEqual(r['removed'], ['two'])
        self.assertEqual(r['changed'], ['lab'])
        self.assertEqual(self.names(), ['lab'])
        wait_for(lambda: self.status()['recovery']['analysis'] == 'ok', what='analysis ok after reload')

        # 5. A reload while a recovery runs (its pre_failover hook sleeps) waits for it: the
        # recovery runs the v2 hooks it started with, then v3 applies.
        self.lab.kill(1, 'KILL')
        wait_for(lambda: 'pre-v2' in self.hook_lines(), timeout=30, what='pre_failover hook of v2 running')
        self.write(self.with_hooks('v3'))
        r = self.reload()
        self.assertFalse(r['applied'])
        self.assertIn('cluster lab', r['waits_for'])
        self.assertIn('config-reload-deferred', self.d.log_text())
        rec = self.wait_recovery_done(timeout=60)
        self.assertEqual(rec['state'], 'done')
        self.wait_healthy(timeout=60)
        wait_for(lambda: 'post-v2' in self.hook_lines(), what='post_failover hook of v2')
        self.assertNotIn('pre-v3', self.hook_lines())
        self.assertNotIn('post-v3', self.hook_lines())
        log = self.d.log_text()
        wait_for(lambda: 'changed lab' in self.d.log_text()[len(log) - 2000:], what='waiting reload applied')
        self.assertEqual(self.d.proc.poll(), None)


if __name__ == '__main__':
    harness.main()
