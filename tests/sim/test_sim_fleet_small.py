"""A small simulated fleet in CI (issue 17): 100 clusters of 4 (400 virtual servers, MySQL 8.0, 8.4 and
MariaDB 10.11) under one controller at a 1 s poll. Everything is discovered; then 10 primaries die at the
same instant: every one of those clusters is recovered exactly once, no other cluster is touched, and the
simulator saw no statement it does not model. The 10,000-server runs are bench/fleet_bench.py.

/metrics is written in steps of 64 clusters (orchestrator/daemon.c, METRICS_SLICE): with 100 clusters
every per-cluster family spans two steps; the exposition must still have each family once, in one
block, with a sample for every server (and pass promtool when it is installed).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'integration'))
import harness  # noqa: E402
from harness import Daemon, myorch, wait_for  # noqa: E402
import simfleet  # noqa: E402

BUILD = os.environ.get('MYORCH_BUILD') or os.path.dirname(harness.MYORCH)
FLEETSIM = os.path.join(BUILD, 'fleetsim')


class SmallFleet(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='myorch-simfleet-')
        self.sim = simfleet.Fleet(FLEETSIM, self.tmp, 'mysql80:34,mysql84:33,mariadb:33', size=4, rate=2)
        self.config = os.path.join(self.tmp, 'myorch.ini')
        self.http = harness.free_tcp_port()
        self.sim.myorch_config(self.config, os.path.join(self.tmp, 'state'), poll_ms=1000,
                               extra_global='http_listen = 127.0.0.1:%d' % self.http)
        try:
            self.d = Daemon(self.config)
        except BaseException:
            self.sim.stop()
            raise

    def tearDown(self):
        rc = self.d.stop()
        simlog = self.sim.stop()
        if rc != 0 or os.environ.get('MYORCH_SHOW_LOG'):
            sys.stderr.write(self.d.log_text()[-6000:])
            sys.stderr.write(simlog[-3000:])
        if not os.environ.get('MYORCH_KEEP_TMP'):
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(rc, 0, 'myorch run did not stop cleanly')

    def statuses(self):
        return {c['name']: c for c in json.loads(myorch('status', '-c', self.config, '--json', check=True).stdout)['clusters']}

    def recoveries(self):
        return json.loads(myorch('recoveries', '-c', self.config, '--json', check=True).stdout)['recoveries']

    def check_metrics(self, n):
        text = urllib.request.urlopen('http://127.0.0.1:%d/metrics' % self.http, timeout=30).read().decode()
        self.assertTrue(text.endswith('\n'), text[-200:])
        families, order, samples = {}, [], {}
        for line in text.splitlines():
            m = re.match(r'# TYPE (\S+) ', line)
            if m:
                families[m.group(1)] = families.get(m.group(1), 0) + 1
                order.append(m.group(1))
            elif line and not line.startswith('#'):
                name = re.match(r'[a-z_]+', line).group(0)
                samples.setdefault(name, []).append(line)
                # every sample of a family in its one block: no sample of a family whose block ended
                base = re.sub(r'_(bucket|sum|count)$', '', name)
                self.assertNotIn(base, order[:-1], 'a sample of %s after its block: %s' % (base, line))
        self.assertEqual([f for f, k in families.items() if k != 1], [], 'families written twice')
        up = samples.get('myorch_instance_up', [])
        self.assertEqual(len(up), 4 * n, 'myorch_instance_up: %d samples for %d servers' % (len(up), 4 * n))
        self.assertTrue(all(s.endswith(' 1') for s in up), [s for s in up if not s.endswith(' 1')][:3])
        self.assertEqual(len(samples.get('myorch_instance_role', [])), 4 * n)
        self.assertEqual(len(samples.get('myorch_replica_io_thread_running', [])), 3 * n)
        self.assertEqual(len(samples.get('myorch_cluster_analysis', [])), n)
        self.assertEqual(len(samples.get('myorch_probe_duration_seconds_count', [])), n)
        self.assertEqual(order[0], 'myorch_build_info', order[:3])
        self.assertEqual(len(samples.get('myorch_failover_ready', [])), n, 'readiness: the last step')
        if shutil.which('promtool'):
            p = subprocess.run(['promtool', 'check', 'metrics'], input=text, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_fleet_discovered_then_ten_primaries_lost(self):
        n = len(self.sim.clusters)
        self.assertEqual(n, 100)
        wait_for(lambda: all(c['recovery']['analysis'] == 'ok' for c in self.statuses().values())
                 and len(self.statuses()) == n, timeout=45, interval=0.5, what='400 servers discovered, analysis ok')
        self.check_metrics(n)
        victims = list(range(0, n, 10))          # clusters of every flavor
        old = {i: self.sim.clusters[i][2][0] for i in victims}
        t0 = time.monotonic()
        self.sim.ctl('kill', *old.values())

        def all_recovered():
            for i in victims:
                h = self.sim.healthy(i)
                if h is None or h == old[i]:
                    return False
            return True
        wait_for(all_recovered, timeout=40, interval=0.2, what='10 clusters recovered')
        elapsed = time.monotonic() - t0
        # the simulator's own kill and heal instants (fleet_bench's failover figure): one per victim, in order
        for i, (killed, healed) in zip(victims, self.sim.healed(victims)):
            self.assertTrue(t0 - 1 < killed < healed <= time.monotonic(), (i, t0, killed, healed))
        self.assertEqual(self.sim.healed([1])[0], (0.0, 0.0), 'a cluster never killed has no kill time')
        recs = wait_for(lambda: (lambda r: r if len(r) >= len(victims) and all(x['state'] != 'running' for x in r)
                                 else None)(self.recoveries()), timeout=30, what='recoveries finished')
        per_cluster = {}
        for r in recs:
            per_cluster.setdefault(r['cluster'], []).append(r)
        names = {self.sim.clusters[i][0] for i in victims}
        self.assertEqual(set(per_cluster), names, 'recoveries only on the clusters that lost their primary')
        for name, rs in per_cluster.items():
            self.assertEqual(len(rs), 1, 'two recoveries on %s: %r' % (name, rs))
            self.assertEqual(rs[0]['state'], 'done', rs[0])
        for i in range(n):
            if i not in victims:
                self.assertEqual(self.sim.healthy(i), self.sim.clusters[i][2][0], 'cluster %d untouched' % i)
        st = self.sim.stats()
        self.assertEqual(st['unknown'], '0', 'statements the simulator does not model: %s' % st['last_unknown'])
        sys.stderr.write('10 simultaneous primary losses among 400 servers: all recovered %.1f s after the kill\n'
                         % elapsed)


if __name__ == '__main__':
    unittest.main(verbosity=2)
