"""The executor on a server whose flavor the plan does not know (issue 12 item 10).

A controller started while the old primary was down has never probed it: its plan entry has no
flavor. The fence used to build SET GLOBAL read_only from that unknown flavor; the builder refused
and (before the result was checked) uninitialised memory was sent as SQL, later the step failed with
"unknown server flavor". Now the executor learns the flavor from the server after connecting (the
handshake's version, else SELECT @@version) and every statement is built from it.

tests/tools/exec_step runs one plan step through the real executor (rec_exec_run_sync), the target
given as host:port with flavor unknown, against a real mariadbd of the lab.
"""
import os
import subprocess
import shutil
import tempfile
import unittest

import harness
from harness import wait_for

EXEC_STEP = os.path.join(os.environ.get('MYORCH_BUILD', os.path.join(harness.SRC, 'build')), 'exec_step')


class UnknownFlavor(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='myorch-uf-')
        self.lab = harness.start_lab(os.path.join(self.tmp, 'lab'), servers=1, semi_sync=True)

    def tearDown(self):
        self.lab.down()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_step(self, kind):
        host, port = self.lab.addr(1).rsplit(':', 1)
        return subprocess.run([EXEC_STEP, kind, host, port, 'myorch', self.lab.myorch_password_file],
                              capture_output=True, text=True, timeout=60)

    def client(self):
        """A client session of the application user that stays connected."""
        p = subprocess.Popen(['mariadb', '--no-defaults', '-uroot', '--socket', self.lab._socket_path(1), '-e',
                              'SELECT SLEEP(120)'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: any('sleep(120)' in (r[0] or '').lower()
                             for r in self.lab.sql(1, 'SELECT INFO FROM information_schema.PROCESSLIST')),
                 what='client session connected')
        return p

    def test_fence_learns_the_flavor(self):
        self.assertEqual(self.lab.sql_value(1, 'SELECT @@read_only'), '0')
        c = self.client()
        try:
            p = self.run_step('fence')
        finally:
            c.kill()
            c.wait()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('end ok:', p.stdout)
        self.assertIn('read-only', p.stdout)
        self.assertNotIn('unknown server flavor', p.stdout)
        self.assertEqual(self.lab.sql_value(1, 'SELECT @@read_only'), '1')
        # The client session was ended; semi-sync's source side stays on (turning it off would answer
        # commits waiting for an acknowledgement OK: test_fence_semisync).
        self.assertFalse(any('sleep(120)' in (r[0] or '').lower()
                             for r in self.lab.sql(1, 'SELECT INFO FROM information_schema.PROCESSLIST')))
        self.assertEqual(self.lab.sql_value(1, 'SELECT @@rpl_semi_sync_master_enabled'), '1')

    def test_demote_learns_the_flavor(self):
        p = self.run_step('demote')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('final position', p.stdout)
        self.assertEqual(self.lab.sql_value(1, 'SELECT @@read_only'), '1')


if __name__ == '__main__':
    harness.main()
