"""The fence's and the switchover's rounds of KILLs when a KILL is slow (simulated servers).

KILL CONNECTION returns once the server has signalled the session; for a session in SELECT
SLEEP() MariaDB 10.11 sometimes takes exactly 2 s, and while one does, the KILLs of the other
sleeping sessions do too. Waited for one after another, three such KILLs used up a 5 s fence
step on a real MariaDB (integration.test_fence_semisync, 1 run in 10). The simulator's
`killdelay` makes every KILL of a virtual server answer that much later, every time, which a
real server cannot be made to do on demand (the session shows as Killed at once, as on the real
servers): 12 client sessions with 1 s per KILL take 12 s waited for one after another, past the
step's 5 s. A KILL not returned after 20 ms is left running on its connection, and the step ends
in well under a second.

Without a slow KILL the rounds stay on the worker's one connection (no connection is opened for
them): a switchover's write block must not pay for connections it does not need. Both flavors'
dialects: a MariaDB 10.11 and a MySQL 8.4 virtual cluster.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'integration'))
import harness  # noqa: E402
import simfleet  # noqa: E402

BUILD = os.environ.get('MYORCH_BUILD') or os.path.dirname(harness.MYORCH)
FLEETSIM = os.path.join(BUILD, 'fleetsim')
EXEC_STEP = os.path.join(BUILD, 'exec_step')
CLIENTS = 12


class KillRounds(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='myorch-simkill-')
        cls.sim = simfleet.Fleet(FLEETSIM, cls.tmp, 'mariadb:2,mysql84:2', size=2, rate=5)
        with open(cls.sim.pw_file) as f:
            pw = f.read().strip()
        cls.client_cnf = os.path.join(cls.tmp, 'client.cnf')
        with open(cls.client_cnf, 'w') as f:
            f.write('[client]\nuser=app\npassword=%s\n' % pw)
        os.chmod(cls.client_cnf, 0o600)
        cls.own_cnf = os.path.join(cls.tmp, 'own.cnf')  # the controller's account: not a client session
        with open(cls.own_cnf, 'w') as f:
            f.write('[client]\nuser=myorch\npassword=%s\n' % pw)
        os.chmod(cls.own_cnf, 0o600)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for p in self.clients:
            if p.poll() is None:
                p.kill()
            p.wait()

    def app_sessions(self, addr, killed_too=False):
        """Sessions of the account app on addr (idle ones; with killed_too also those a KILL marked),
        from its own SHOW PROCESSLIST."""
        host, port = addr.rsplit(':', 1)
        out = subprocess.run(['mariadb', '--defaults-file=' + self.own_cnf, '-h', host, '-P', port, '--protocol=tcp',
                              '-N', '-e', 'SHOW PROCESSLIST'], capture_output=True, text=True, timeout=30,
                             check=True).stdout
        return sum(1 for line in out.splitlines() if line.split('\t')[1:2] == ['app'] and
                   ('\tSleep\t' in line or (killed_too and '\tKilled\t' in line)))

    def open_clients(self, addr, n):
        """n idle client sessions (account app) on addr: mariadb CLIs waiting on their stdin."""
        host, port = addr.rsplit(':', 1)
        self.assertEqual(self.app_sessions(addr), 0)
        for _ in range(n):
            self.clients.append(subprocess.Popen(
                ['mariadb', '--defaults-file=' + self.client_cnf, '-h', host, '-P', port, '--protocol=tcp'],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        harness.wait_for(lambda: self.app_sessions(addr) == n, what='%d client sessions' % n)

    def step(self, kind, addr):
        host, port = addr.rsplit(':', 1)
        connects = int(self.sim.stats()['connects'])
        t0 = time.monotonic()
        p = subprocess.run([EXEC_STEP, kind, host, port, 'myorch', self.sim.pw_file], capture_output=True,
                           text=True, timeout=60)
        took = time.monotonic() - t0
        opened = int(self.sim.stats()['connects']) - connects
        return p, took, opened

    def run_step(self, kind, flavor, k, word):
        name, _, addrs = [c for c in self.sim.clusters if c[1] == flavor][k]
        primary = addrs[0]
        self.open_clients(primary, CLIENTS)
        # Fast KILLs: one connection for the rounds.
        p, took, opened = self.step(kind, primary)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r'\b%d client sessions %s' % (CLIENTS, word))
        fast_opened = opened
        # Slow KILLs: 1 s each, 12 s one after another, over the step's 5 s. Each is left running
        # after 20 ms on a connection of its own; the sessions show as Killed at once.
        self.sim.ctl('killdelay', primary, '1000')
        self.open_clients(primary, CLIENTS)
        p, took, opened = self.step(kind, primary)
        self.sim.ctl('killdelay', primary, '0')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        m = re.search(r'\b(\d+) client sessions? %s(?:, (\d+) more KILLs? sent that had not returned)?' % word,
                      p.stdout)
        self.assertTrue(m, p.stdout)
        self.assertEqual(int(m.group(1)) + int(m.group(2) or 0), CLIENTS, p.stdout)
        self.assertLess(took, 2.5, 'the step took %.1f s: %s' % (took, p.stdout))
        self.assertGreater(opened, fast_opened + 3, 'no connection of its own for a slow KILL: %s' % p.stdout)
        harness.wait_for(lambda: self.app_sessions(primary, True) == 0, what='the killed sessions gone')
        sys.stderr.write('%s %s: fast KILLs %d connections; 1 s KILLs %.2f s, %d connections: %s\n'
                         % (kind, flavor, fast_opened, took, opened, p.stdout.splitlines()[0]))
        return fast_opened

    def test_fence_mariadb(self):
        self.assertLessEqual(self.run_step('fence', 'mariadb', 0, 'killed'), 2)  # the barrier's and the worker's

    def test_fence_mysql84(self):
        self.assertLessEqual(self.run_step('fence', 'mysql84', 0, 'killed'), 2)

    def test_demote_mariadb(self):
        self.assertLessEqual(self.run_step('demote', 'mariadb', 1, 'ended'), 1)

    def test_demote_mysql84(self):
        self.assertLessEqual(self.run_step('demote', 'mysql84', 1, 'ended'), 1)


if __name__ == '__main__':
    harness.main()
