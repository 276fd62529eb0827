"""probe_detail_every (issue 17): who replicates from a server (SHOW REPLICAS / SLAVE HOSTS and
SHOW PROCESSLIST, which walks every session of the server) is read on one probe in N, on a
connection's first, and on the probe after one that saw the server's role change. The probes
between send the batch without those two statements and carry the last list read.

tests/tools/probe_detail drives the real probe engine against a fleetsim primary (one replica:
one SHOW REPLICAS row, one Binlog Dump session). The test checks what the engine says it did
(probe_stats.probes_detail), what every snapshot holds (the replica and the dump host on each), and
what the server saw: fleetsim's count of statements, which tells full batches from lean ones.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'integration'))
import harness  # noqa: E402
import simfleet  # noqa: E402

BUILD = os.environ.get('MYORCH_BUILD') or os.path.dirname(harness.MYORCH)
FLEETSIM = os.path.join(BUILD, 'fleetsim')
TOOL = os.path.join(BUILD, 'probe_detail')

# Statements per batch (topology/dialect.c): MariaDB VARS, SHOW ALL SLAVES STATUS, SHOW BINLOG STATUS,
# SHOW REPLICA HOSTS, SHOW GLOBAL STATUS LIKE, SHOW PROCESSLIST; MySQL 8.4 adds SHOW GLOBAL VARIABLES
# LIKE and the performance_schema receive query. Lean: two fewer. The first probe of a connection
# also sends SET SESSION sql_mode.
FULL = {'mariadb': 6, 'mysql84': 8}


class ProbeDetail(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='myorch-probedetail-')
        self.sim = simfleet.Fleet(FLEETSIM, self.tmp, 'mariadb:1,mysql84:1', size=2, rate=1)

    def tearDown(self):
        self.sim.stop()
        if not os.environ.get('MYORCH_KEEP_TMP'):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def statements(self):
        return int(dict(kv.split('=', 1) for kv in self.sim.ctl('stats').split()[1:] if '=' in kv)['statements'])

    def answers(self, out):
        rows = []
        for line in out.splitlines():
            w = line.split()
            if w[:1] == ['answer']:
                self.assertEqual(w[2], 'ok', line)
                rows.append({'replicas': int(w[4]), 'have_dumps': int(w[6]), 'dumps': int(w[8]), 'detail': int(w[10])})
        return rows

    def run_tool(self, flavor, every, n):
        addr = [c for c in self.sim.clusters if c[1] == flavor][0][2][0]
        host, port = addr.rsplit(':', 1)
        before = self.statements()
        p = subprocess.run([TOOL, host, port, 'myorch', self.sim.pw_file, str(every), str(n)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return self.answers(p.stdout), self.statements() - before

    def check_every(self, flavor):
        for every, n in ((4, 17), (1, 6)):
            rows, stmts = self.run_tool(flavor, every, n)
            self.assertEqual(len(rows), n)
            # Full on the first, then one in `every`: answers 1, 5, 9, 13, 17 with every = 4.
            full = [k + 1 for k in range(n) if k % every == 0]
            self.assertEqual([r['detail'] for r in rows],
                             [sum(1 for f in full if f <= k + 1) for k in range(n)], rows)
            # Every snapshot holds the primary's replica and its dump host, lean ones the last read.
            for r in rows:
                self.assertEqual((r['replicas'], r['have_dumps'], r['dumps']), (1, 1, 1), rows)
            # The server ran the lean batches: two statements fewer each.
            self.assertEqual(stmts, 1 + len(full) * FULL[flavor] + (n - len(full)) * (FULL[flavor] - 2))

    def test_every_mariadb(self):
        self.check_every('mariadb')

    def test_every_mysql84(self):
        self.check_every('mysql84')

    def test_role_change_reads_detail(self):
        """The primary made read-only between two probes: the probe that sees it is lean, the next
        one is full, though the schedule (one in 100) had none due."""
        addr = [c for c in self.sim.clusters if c[1] == 'mariadb'][0][2][0]
        host, port = addr.rsplit(':', 1)
        with open(self.sim.pw_file) as f:
            pw = f.read().strip()
        cnf = os.path.join(self.tmp, 'own.cnf')
        with open(cnf, 'w') as f:
            f.write('[client]\nuser=myorch\npassword=%s\n' % pw)
        os.chmod(cnf, 0o600)
        p = subprocess.Popen([TOOL, host, port, 'myorch', self.sim.pw_file, '100', '6', '3'],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out = []
        try:
            for line in p.stdout:
                out.append(line)
                if line.strip() == 'paused':
                    subprocess.run(['mariadb', '--defaults-file=' + cnf, '-h', host, '-P', port, '--protocol=tcp',
                                    '-e', 'SET GLOBAL read_only = 1'], check=True, timeout=30, capture_output=True)
                    p.stdin.write('\n')
                    p.stdin.flush()
            self.assertEqual(p.wait(timeout=60), 0, ''.join(out) + p.stderr.read())
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        rows = self.answers(''.join(out))
        self.assertEqual([r['detail'] for r in rows], [1, 1, 1, 1, 2, 2], rows)
        for r in rows:
            self.assertEqual((r['replicas'], r['have_dumps'], r['dumps']), (1, 1, 1), rows)


if __name__ == '__main__':
    unittest.main()
