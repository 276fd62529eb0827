"""Failover and switchover flows end to end on MySQL 8.0 and 8.4 virtual clusters (issue 17).

The real myorch binary runs against tests/sim/fleetsim: discovery, replication lag, crash failover,
fencing and rejoin of the old primary, graceful switchover. A statement a MySQL 8.4 server would
reject (SHOW SLAVE STATUS, CHANGE MASTER, ...) gets its real error from the simulator and fails the
flow; every statement the simulator does not know is counted and fails the test.
The real-server tests (tests/integration, MariaDB) stay the ground truth; this covers MySQL syntax.
"""
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'integration'))
import harness  # noqa: E402
from harness import Daemon, myorch, wait_for  # noqa: E402
import simfleet  # noqa: E402

BUILD = os.environ.get('MYORCH_BUILD') or os.path.dirname(harness.MYORCH)
FLEETSIM = os.path.join(BUILD, 'fleetsim')


class SimFlows(unittest.TestCase):
    FLEET = 'mysql80:2,mysql84:2'

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='myorch-sim-')
        cls.sim = simfleet.Fleet(FLEETSIM, cls.tmp, cls.FLEET, size=3, rate=5)
        cls.config = os.path.join(cls.tmp, 'myorch.ini')
        cls.sim.myorch_config(cls.config, os.path.join(cls.tmp, 'state'), poll_ms=300)
        try:
            cls.d = Daemon(cls.config)
        except BaseException:
            cls.sim.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        simlog = cls.sim.stop()
        if rc != 0 or os.environ.get('MYORCH_SHOW_LOG'):
            sys.stderr.write(cls.d.log_text()[-6000:])
            sys.stderr.write(simlog[-3000:])
        if not os.environ.get('MYORCH_KEEP_TMP'):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def cluster(self, flavor, k):
        found = [(i, c) for i, c in enumerate(self.sim.clusters) if c[1] == flavor]
        return found[k]

    def status(self, name):
        out = json.loads(myorch('status', '-c', self.config, '--json', check=True).stdout)
        return [c for c in out['clusters'] if c['name'] == name][0]

    def recoveries(self, name):
        out = json.loads(myorch('recoveries', '-c', self.config, '--json', check=True).stdout)['recoveries']
        return [r for r in out if r.get('cluster') == name]

    def assert_no_unknown_statements(self):
        st = self.sim.stats()
        self.assertEqual(st['unknown'], '0', 'the simulator saw statements it does not model: %s' % st['last_unknown'])

    def discovered(self, name, flavor):
        t = self.d.topology(name)
        ok = t['reachable'] == 3 and self.status(name)['recovery']['analysis'] == 'ok'
        if ok:
            for i in t['instances']:
                self.assertEqual(i['snapshot']['flavor'], 'mysql')
                self.assertTrue(i['snapshot']['version'].startswith('8.4' if flavor == 'mysql84' else '8.0'))
        return ok

    def flows(self, flavor):
        # Discovery.
        for k in (0, 1):
            idx, (name, _, addrs) = self.cluster(flavor, k)
            wait_for(lambda: self.discovered(name, flavor), timeout=30, what='%s discovered' % name)
            self.assertEqual(self.d.topology(name)['primary'], addrs[0])

        # Replication lag: the replica's Seconds_Behind_Source reaches the controller.
        idx, (name, _, addrs) = self.cluster(flavor, 0)
        self.sim.ctl('lag', addrs[1], 30)
        wait_for(lambda: (self.d.instances(name)[addrs[1]]['lag_s'] or 0) >= 1, timeout=20,
                 what='lag of %s seen' % addrs[1])
        self.sim.ctl('lag', addrs[1], 0)
        wait_for(lambda: self.d.instances(name)[addrs[1]]['lag_s'] == 0, timeout=20, what='lag back to 0')

        # Crash failover, then the old primary returns writable: fenced, then rejoined.
        old = addrs[0]
        self.sim.ctl('kill', old)
        new = wait_for(lambda: self.sim.healthy(idx) not in (None, old) and self.sim.healthy(idx), timeout=30,
                       what='%s failed over' % name)
        r = wait_for(lambda: [x for x in self.recoveries(name) if x['state'] != 'running'], timeout=30,
                     what='recovery finished')[0]
        self.assertEqual(r['state'], 'done', r)
        self.assertEqual(r['analysis'], 'dead-primary')
        self.assertEqual(r['old_primary'], old)
        self.assertEqual(r['new_primary'], new)
        self.assertEqual(r['lost_gtids'], '')
        wait_for(lambda: self.d.topology(name)['primary'] == new, timeout=20, what='controller sees the new primary')
        self.sim.ctl('rate', old, 0)   # no application writes reach the restarted old primary
        self.sim.ctl('start', old, 'ro=0')
        wait_for(lambda: self.sim.status(old)['super_read_only'] == '1', timeout=20, what='old primary fenced')
        wait_for(lambda: self.sim.status(old)['source'] == new and self.sim.status(old)['io'] == 'Yes',
                 timeout=30, what='old primary rejoined as a replica of %s' % new)
        self.assertEqual(self.sim.healthy(idx), new)

        # Graceful switchover on the other cluster.
        idx2, (name2, _, addrs2) = self.cluster(flavor, 1)
        p = myorch('switchover', '-c', self.config, '--cluster', name2, '--json', timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        new2 = wait_for(lambda: self.sim.healthy(idx2) not in (None, addrs2[0]) and self.sim.healthy(idx2),
                        timeout=30, what='%s switched over' % name2)
        self.assertIn(new2, addrs2[1:])
        st = self.sim.status(addrs2[0])
        self.assertEqual((st['source'], st['io'], st['sql'], st['super_read_only']), (new2, 'Yes', 'Yes', '1'))
        self.assert_no_unknown_statements()

    def test_mysql80(self):
        self.flows('mysql80')

    def test_mysql84(self):
        self.flows('mysql84')


if __name__ == '__main__':
    unittest.main(verbosity=2)
