"""The demo's "try this" list (tests/lab/demo.sh) works as printed.

The commands are read from the script itself, so the list cannot go stale: on a lab and a
controller like the demo's (the lab's own myorch.ini), the inspection commands answer, and
the "two things people come for" block runs in order: kill the primary (automatic failover),
read the recovery, restart the old primary (fenced, rejoins), switch over back to it, and the
report shows one unplanned outage and one planned write block.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness
from harness import Daemon, myorch, wait_for

DEMO = os.path.join(harness.SRC, 'tests', 'lab', 'demo.sh')


def demo_commands():
    """(section, command) pairs from the demo's heredoc, comments stripped."""
    with open(DEMO) as f:
        text = f.read()
    body = text.split('try:\n', 1)[1].split('\nMSG\n', 1)[0]
    section, out = 'basics', []
    for line in body.splitlines():
        if line.startswith('The two things'):
            section = 'come-for'
            continue
        if not line.startswith('  '):
            continue
        cmd = re.sub(r'\s+#.*$', '', line.strip())
        out.append((section, cmd))
    return out


class DemoList(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='myorch-demo-')
        self.lab = harness.start_lab(os.path.join(self.tmp, 'lab'), servers=3)
        self.env = dict(os.environ, LAB_DIR=self.lab.dir, LAB_PORT=str(self.lab.port(1)))
        self.d = Daemon(self.lab.config_path)
        wait_for(lambda: self.d.topology()['reachable'] == 3, what='lab discovered')
        wait_for(lambda: self.status()['recovery']['analysis'] == 'ok', what='analysis ok')

    def tearDown(self):
        self.d.stop()
        self.lab.down()
        if not os.environ.get('MYORCH_KEEP_TMP'):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def status(self):
        return __import__('json').loads(myorch('status', '-c', self.lab.config_path, '--json', check=True).stdout)[
            'clusters'][0]

    def run_cmd(self, cmd, timeout=120):
        cmd = cmd.replace('build/myorch', harness.MYORCH)
        p = subprocess.run(['bash', '-c', cmd], cwd=harness.SRC, env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        self.assertEqual(p.returncode, 0, '%s\nstdout: %s\nstderr: %s' % (cmd, p.stdout, p.stderr))
        return p.stdout

    def test_try_this_list(self):
        cmds = demo_commands()
        come_for = [c for s, c in cmds if s == 'come-for']
        self.assertTrue(any('kill' in c and ' 1' in c for c in come_for), come_for)
        self.assertTrue(any('switchover' in c for c in come_for), come_for)
        for s, c in cmds:
            if s == 'basics' and (' topology ' in c or ' status ' in c):
                self.run_cmd(c)
        for c in come_for:
            out = self.run_cmd(c)
            if 'lab.py kill' in c:
                wait_for(lambda: any(r['state'] == 'done' for r in
                                     __import__('json').loads(myorch('recoveries', '-c', self.lab.config_path,
                                                                     '--json').stdout)['recoveries']),
                         what='automatic failover done')
            elif 'recoveries' in c:
                self.assertIn('failover', out)
                self.assertIn('done', out)
            elif 'lab.py start' in c:
                # Fenced, then rejoined below the new primary.
                wait_for(lambda: self.lab.sql_value(1, 'SELECT @@read_only') == '1', what='old primary fenced')
                wait_for(lambda: (self.lab.slave_status(1) or {}).get('Slave_SQL_Running') == 'Yes', timeout=30,
                         what='old primary rejoined as a replica')
                wait_for(lambda: self.d.instances()[self.lab.addr(1)]['fenced'] is False, timeout=30,
                         what='the controller saw it rejoin (no longer FENCED)')
                wait_for(lambda: self.status()['recovery']['analysis'] == 'ok', what='analysis ok after rejoin')
            elif 'switchover' in c:
                self.assertIn('done', out)
                self.assertEqual(self.lab.sql_value(1, 'SELECT @@read_only'), '0', 'server 1 is the primary again')
            elif ' report ' in c:
                self.assertIn('unplanned outages     1, ', out)
                self.assertIn('planned write blocks  1 (switchovers)', out)


if __name__ == '__main__':
    harness.main()
