"""The fence never answers OK to a commit the new primary lacks (fault scenario 19, smaller).

A semi-sync primary whose only replica stopped acknowledging (its IO thread stopped, the
source timeout 600 s): every commit of its clients waits for an acknowledgement that never
comes, as on a primary cut off in a zone split. Three seqwriters keep writing to it, each
reconnecting 10 ms after an error and retrying (a duplicate key on retry moves it to the next
number, which waits again), like the local writers of scenario 19; 40 idle client sessions
make the fence's first round of kills long enough for a killed writer to be back. Then the
fence (tests/tools/exec_step, the real executor step) runs.

The fence used to end the sessions, then turn the semi-sync source side off: the writers had
reconnected meanwhile, and their new commits were released with OK (3 of 18 runs of scenario
19 lost one acknowledged row per local writer). Now no commit is ever released except by KILL
CONNECTION, which never reaches the client as OK: every commit here began after the replica
stopped acknowledging, so no writer may have a single acknowledged row. (The old fence failed
this 3 of 3 times, one acknowledged row per writer or so; the new one passes.)
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import harness
from harness import wait_for

BUILD = os.environ.get('MYORCH_BUILD', os.path.join(harness.SRC, 'build'))
EXEC_STEP = os.path.join(BUILD, 'exec_step')
SEQWRITER = os.environ.get('MYORCH_SEQWRITER') or os.path.join(BUILD, 'seqwriter')
WAIT_STATE = 'Waiting for semi-sync ACK%'
IDLE = 40


class FenceSemiSync(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='myorch-fss-')
        self.lab = harness.start_lab(os.path.join(self.tmp, 'lab'), servers=2, semi_sync=True)
        self.writers = []
        self.idle = []
        self.lab.sql(1, 'SET GLOBAL rpl_semi_sync_master_timeout=600000')
        self.lab.sql(2, 'STOP SLAVE IO_THREAD')  # no acknowledgement from now on

    def tearDown(self):
        for p in [w for w, _ in self.writers] + self.idle:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.lab.down()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def waiting(self):
        return int(self.lab.sql_value(1, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE '%s' "
                                         "AND COMMAND <> 'Killed'" % WAIT_STATE))

    def start_writer(self, k):
        out = os.path.join(self.tmp, 'writer-%d.json' % k)
        p = subprocess.Popen([SEQWRITER, '--target', self.lab.addr(1), '--user', 'app', '--password-file',
                              self.lab.app_password_file, '--start', str(1000000 * (k + 1)), '--out', out],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.writers.append((p, out))

    def idle_sessions(self, n):
        """n idle client sessions: the fence's first round of kills takes long enough for a
        killed writer to reconnect and commit again before that round ends."""
        argv = ['mariadb', '--no-defaults', '-uroot', '--socket', self.lab._socket_path(1), '-e', 'SELECT SLEEP(120)']
        self.idle = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
        wait_for(lambda: int(self.lab.sql_value(1, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                                   "WHERE INFO = 'SELECT SLEEP(120)'")) >= n,
                 what='%d idle sessions' % n)

    def test_fence_releases_no_waiting_commit_with_ok(self):
        self.idle_sessions(IDLE)
        for k in range(3):
            self.start_writer(k)
        wait_for(lambda: self.waiting() >= 3, timeout=20, what='3 commits waiting for an acknowledgement')
        time.sleep(2.5)  # past the writers' 2 s read timeout: they reconnected and wait again
        host, port = self.lab.addr(1).rsplit(':', 1)
        p = subprocess.run([EXEC_STEP, 'fence', host, port, 'myorch', self.lab.myorch_password_file],
                           capture_output=True, text=True, timeout=60)
        time.sleep(0.5)  # the writers keep trying against the fenced server
        results = []
        for w, out in self.writers:
            w.send_signal(signal.SIGTERM)
            w.wait(30)
            with open(out) as f:
                results.append(json.loads(f.read()))
        for r in results:
            self.assertGreater(r['errors'], 0, r)
            self.assertEqual(r['acked'], 0, 'a commit the replica never received was acknowledged: %s' % r)
        self.assertEqual(self.lab.sql_value(1, 'SELECT @@read_only'), '1')
        self.assertEqual(self.waiting(), 0)
        # The source side stays on: turning it off is what released commits with OK.
        self.assertEqual(self.lab.sql_value(1, 'SELECT @@rpl_semi_sync_master_enabled'), '1')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('none waiting for a semi-sync acknowledgement', p.stdout)


if __name__ == '__main__':
    harness.main()
